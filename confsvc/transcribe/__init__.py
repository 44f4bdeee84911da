"""Transcription (issue 13): each caller's own voice -> utterances (VAD) -> text.

rtp.py (audio from Asterisk) · vad.py (utterances) · worker.py (the speech model, in worker
processes) · backends.py (local model pool, or an OpenAI-compatible URL) · queue.py (the
bounded queue in front of the backend) · legs.py (per-call ARI snoop + externalMedia).
Nothing here imports the engine; the engine (engine/transcribe.py) drives it."""
