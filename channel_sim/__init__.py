"""What every simulated channel process shares (the sandbox channel and the WeChat Pay and Alipay
emulators): the process runner for tests, the SQLite store, the threaded HTTP server and the
notification delivery loop. A simulated third party: no Paycenter app may import it.
"""
