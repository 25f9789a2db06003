"""`manage.py chaos`: the shipped check that a running deployment keeps the promise.

It drives the deployment only through its public doors over HTTP (``doors``: the partner API
with the demo merchant's key, the demo shop and checkout pages, the sandbox channel's test
endpoints), while the channel misbehaves (``plan``) and, optionally, q2 workers die and Redis
stops (``disruptions``). Then it reads the channel's own statement and judges (``verdict``), and
writes a timeline (``report``). docs/operations.md, "Chaos check".
"""
