FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 APP_ENV=production
WORKDIR /srv

RUN useradd --create-home --uid 10001 invoicing

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall -y crm-invoicing && rm -rf app

# The product only: the top-level sandbox/ package (the stand-ins) is not copied, so
# `invoicing sandbox` and `invoicing demo` say it is not installed; the build checks it is absent.
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY alembic.ini ./
# Editable, so that templates/ and migrations/ are found next to app/ in /srv.
RUN pip install --no-deps -e . && mkdir -p /srv/var && chown invoicing /srv/var \
    && python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('sandbox') is not None)"

USER invoicing
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["invoicing", "serve", "--host", "0.0.0.0", "--port", "8000"]
