"""The orders app's CDK app: the framework's constructs (``sluice.cdk``) composed from ``APP``."""
