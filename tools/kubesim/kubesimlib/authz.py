"""Authorization answers. kubesim has one local identity (the token or the client certificate),
which may do everything, so every review is allowed; RBAC objects are stored, not enforced."""


def self_subject_access_review(body):
    """The SelfSubjectAccessReview a real server returns for body, with status.allowed."""
    spec = (body or {}).get("spec") or {}
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec,
            "status": {"allowed": True, "reason": "kubesim: the local user may do everything"}}
