"""Are AWS credentials configured? Decided from the environment and the shared files only.

No network call (botocore's chain would try the EC2 instance metadata service), so this is safe
in tests and in CI without AWS access. Instance-profile credentials are therefore not detected:
on such a host export `AWS_PROFILE` with a `credential_source = Ec2InstanceMetadata` profile.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path


def _sections(path: Path) -> set[str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError):
        return set()
    return {section.removeprefix("profile ").strip() for section in parser.sections()}


def known_profiles(environ: Mapping[str, str] | None = None) -> set[str]:
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    credentials = Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config = Path(environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    return _sections(credentials) | _sections(config)


def environment_credentials(environ: Mapping[str, str] | None = None) -> str | None:
    """Credentials given directly by environment variables (CI with OIDC, a shell with exports)."""
    environ = os.environ if environ is None else environ
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") and environ.get("AWS_ROLE_ARN"):
        return "AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN"
    if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return "container credentials (AWS_CONTAINER_CREDENTIALS_*)"
    return None


def credential_source(profile: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """A description of where credentials would come from, or None when there are none.

    `profile` is the environment's configured profile; it must exist in ~/.aws/config or
    ~/.aws/credentials unless credentials come from environment variables.
    """
    environ = os.environ if environ is None else environ
    profiles = known_profiles(environ)
    if profile and profile in profiles:
        return f"profile {profile}"
    direct = environment_credentials(environ)
    if direct:
        return direct
    if profile:
        return None
    named = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    if named:
        return f"profile {named}" if named in profiles else None
    return "profile default" if "default" in profiles else None
