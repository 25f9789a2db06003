"""A bare Django + DRF app for bench/throughput.py: one endpoint that validates the same order
fields as the partner API, INSERTs one row and answers 201. Paycenter's figures are ratios
against it, measured in the same run, under the same server settings, on the same PostgreSQL."""
