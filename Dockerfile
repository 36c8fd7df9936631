# One image for every service of docker-compose.yml: Rasa, actions, bot, scheduler.
# The Rasa model is trained at build time from the repo's training data and corpus.
FROM python:3.10.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore::DeprecationWarning
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
RUN pip install --no-deps --no-build-isolation -e . \
    # the knowledge base of the image is only used to generate the NLU lookups and
    # the jieba dictionary for training; production data lives in PostgreSQL
    && DATABASE_URL=sqlite:////tmp/build.sqlite3 bot kb build \
    && DATABASE_URL=sqlite:////tmp/build.sqlite3 bot train \
    && rm -f /tmp/build.sqlite3 \
    && useradd --system --home /app kexie && chown -R kexie /app

USER kexie
EXPOSE 8000 5005 5055
CMD ["bot", "serve"]
