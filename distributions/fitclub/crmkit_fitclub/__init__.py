"""FitClub CRM: a crmkit distribution for fitness clubs (README.md).

Everything it ships is data next to this file -- ``distribution.toml`` (brand, where the rest is),
``defaults.toml`` (the default crmkit.toml), ``templates/`` and ``brand/`` -- plus its demo data
(:mod:`crmkit_fitclub.demo`) and the club's staff roles (:mod:`crmkit_fitclub.plugin`).
"""
