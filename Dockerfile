# One image for every process of the service: the API (default command),
# `backinstock migrate`, `backinstock dispatcher` and `backinstock mcp`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app

# Installed in place (-e): the code runs from /app, where
# shared_models.migrations finds sql/ (a plain `pip install .` leaves sql/,
# which is not a Python package, out of site-packages).
RUN pip install -e . \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin backinstock

USER backinstock
EXPOSE 8080 8090
CMD ["backinstock", "api", "--host", "0.0.0.0"]
