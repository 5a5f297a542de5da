# Compose targets: see the compose issue.
