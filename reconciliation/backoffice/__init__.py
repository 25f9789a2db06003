"""The finance back office in the Django admin: what is at risk, and doors onto the
services that fix it. Reads and admin wiring only; every change goes through a service."""
