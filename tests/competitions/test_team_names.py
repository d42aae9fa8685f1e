"""Team names are unique per competition whatever their case: one could pass for the other."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from competitions.models import Team

pytestmark = pytest.mark.django_db


def test_a_name_differing_only_in_case_or_spacing_is_refused(make_user, client_for, client, membership_competition):
    assert client_for(make_user("a")).post("/api/v1/competitions/mia-test/teams/", {"name": "Charité Lab"}).status_code == 201
    for name in ["CHARITÉ LAB", "charité lab", "Charité  Lab", " Charité Lab "]:
        response = client_for(make_user()).post("/api/v1/competitions/mia-test/teams/", {"name": name})
        assert response.status_code == 409, name
        assert "a team called 'Charité Lab' already exists" in response.json()["error"]
    zero_width = client_for(make_user()).post("/api/v1/competitions/mia-test/teams/", {"name": "Charité\u200b Lab"})
    assert zero_width.status_code == 400 and "U+200B" in zero_width.json()["error"]
    client.force_login(make_user("page"))
    page = client.post("/competitions/mia-test/team/", {"action": "create", "name": "charité LAB"})
    assert page.status_code == 409 and "already exists" in page.content.decode()
    assert list(Team.objects.values_list("name", flat=True)) == ["Charité Lab"]


def test_the_database_holds_the_rule_too(membership_competition):
    Team.objects.create(competition=membership_competition, name="Alpha")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(competition=membership_competition, name="ALPHA")
