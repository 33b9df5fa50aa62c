"""The CDK app: ``python -m infra.app`` or ``npx cdk synth`` (through cdk.json).

Everything is derived from the app declaration; ``-c prefix=sluice-dev`` names another copy.
"""

from app import APP
from sluice.cdk import synth

if __name__ == "__main__":
    synth(APP)
