"""A local WeChat Pay API v3 emulator: its own process and store, WeChat's wire protocol.

Paycenter reaches it only over HTTP, exactly as it would reach api.mch.weixin.qq.com: signed
requests, signed answers, AEAD-encrypted callbacks. See docs/wechatpay.md.
"""
