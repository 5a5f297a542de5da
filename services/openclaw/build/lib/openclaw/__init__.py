"""OpenClaw's MoonMind integration (the model-locked LLM adapter lives in ``openclaw.llm``)."""
