"""The crmkit core: entities, pipelines, tasks, the event log and the plugin host.

Import the public SDK from :mod:`crmkit`; modules here are internals unless
``crmkit`` re-exports them.
"""
