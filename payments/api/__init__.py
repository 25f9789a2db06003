"""The partner API: thin DRF doors onto the services, under /api/v1/."""
