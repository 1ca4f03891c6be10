# Image for web, worker and beat (docker-compose.yml). WeasyPrint needs Pango.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home backoffice && mkdir -p /app/var && chown -R backoffice /app/var
USER backoffice
RUN DEBUG=true python manage.py collectstatic --no-input --verbosity 0
EXPOSE 8000
CMD ["gunicorn", "backoffice.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
