"""Object storage: the protocol the app uses and its Google Cloud Storage implementation."""
