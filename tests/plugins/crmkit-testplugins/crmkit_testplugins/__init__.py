"""Test plugins for crmkit, installed as a real distribution with entry points."""
