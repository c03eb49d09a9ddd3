"""kubesim: a Kubernetes API server and CNPG operator simulator (Python 3 standard library only)."""
