# The MLWorker sidecar. Triton runs in its own container of the same pod (see
# docker-compose.yml); this image holds only the orchestrator and its runtime dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 mlworker
COPY --from=build /install /usr/local
USER mlworker
ENV PYTHONUNBUFFERED=1 \
    MLWORKER_TRITON_URL=127.0.0.1:8001
EXPOSE 8080
# SIGTERM: uvicorn stops accepting and lets in-flight tasks finish within the grace period.
CMD ["uvicorn", "--factory", "orchestrator.asgi:app", "--host", "0.0.0.0", "--port", "8080", \
     "--timeout-graceful-shutdown", "30", "--no-access-log"]
