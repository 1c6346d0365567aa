# strangler and the ShopCo monolith, for docker-compose.yml.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends graphviz \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monolith monolith
COPY extracted extracted
COPY router router
COPY analysis analysis
COPY cdc cdc
COPY strangler strangler
COPY strangler_settings strangler_settings
COPY parity parity
COPY scaffold scaffold
COPY handover handover
COPY migrations migrations
# Editable, so that migrations/ is found beside the packages.
RUN pip install --no-cache-dir -e ".[all]"
ENTRYPOINT ["strangler"]
CMD ["--help"]
