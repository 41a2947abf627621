"""The parts of SessionTracer (tracekit/tracer.py): contexts, the background writer, hooks, checks.

context.py   the ContextVar of the active session/step and the with / async with scopes
writer.py    the background writer thread: batched saves, spool, replay, exit flush
hooks.py     Hooks: callbacks at each recording and saving stage
values.py    checks on what the tracer is given (refused at once when not storable); a call's event
"""
