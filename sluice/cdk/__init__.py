"""The CDK constructs: one stack per app, one construct per concern, all from the declaration.

An app's ``infra/app.py`` is a few lines::

    from app import APP
    from sluice.cdk import synth

    if __name__ == "__main__":
        synth(APP)

Imported only to synthesize (it needs the ``sluice-aws[infra]`` extra); nothing in this package
ships inside a Lambda asset.
"""

from sluice.cdk.stack import SluiceStack
from sluice.cdk.synth import build, prefix_of, synth

__all__ = ["SluiceStack", "build", "prefix_of", "synth"]
