# The worker image for container workers (`runtime="container"`): `sluice work <worker>`.
# The CDK app stages this folder as an image asset at synth (no docker needed there);
# `cdk deploy` builds it for linux/arm64 and pushes it to the bootstrap ECR repository.
FROM public.ecr.aws/docker/library/python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The framework with its CLI (`sluice work` needs typer and rich), then the app's code.
COPY pyproject.toml README.md ./
COPY sluice ./sluice
RUN pip install ".[tools]"
COPY . .

RUN useradd --uid 10001 --no-create-home worker
USER worker
ENTRYPOINT []
CMD ["sluice", "--help"]
