"""Accounts: the one way a person gets one, behind the registration page and the API."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from config.errors import Conflict, InvalidInput

USERNAME = re.compile(r"^[\w.@+-]{3,150}$")
USERNAME_RULE = "3–150 letters, digits and @/./+/-/_ only."


def user_register(*, username: str, email: str, password: str):
    """Create an account. Usernames are unique ignoring case (one could pass for the other on a
    team's member list); the password must pass the site's password validators."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise InvalidInput(f"username: {USERNAME_RULE}", detail={"username": [USERNAME_RULE]})
    try:
        validate_email(email or "")
    except ValidationError as exc:
        raise InvalidInput("email: " + " ".join(exc.messages), detail={"email": exc.messages}) from exc
    User = get_user_model()
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password or "", candidate)
    except ValidationError as exc:
        raise InvalidInput("password: " + " ".join(exc.messages), detail={"password": exc.messages}) from exc
    taken = Conflict(f"username: {username!r} is taken.", detail={"username": [f"{username!r} is taken."]})
    try:
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise taken
            candidate.set_password(password)
            candidate.save()
    except IntegrityError as exc:
        raise taken from exc
    return candidate
