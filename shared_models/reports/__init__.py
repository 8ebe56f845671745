"""Report queries, the core of the five reports: the API's report actions
(api_service/reports) and the dispatcher's report emails read them."""
