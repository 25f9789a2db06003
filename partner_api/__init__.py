"""The partner API (DESIGN §7): thin DRF doors onto the services, under /api/v1/."""
