"""stub"""
import click

@click.group(name="inventory")
def group() -> None:
    """Inventory."""
