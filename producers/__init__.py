"""What puts events into the pipeline: the storage-first API and the batched publisher.

Nothing is imported here, so a worker that needs only the publisher does not pay for the
API's event handler at cold start.
"""
