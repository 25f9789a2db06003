"""A local Alipay open-platform gateway emulator: its own process and store, Alipay's wire protocol.

Paycenter reaches it only over HTTP, exactly as it would reach openapi.alipay.com/gateway.do:
RSA2-signed form requests, RSA2-signed JSON answers, signed form notifies. See docs/alipay.md.
"""
