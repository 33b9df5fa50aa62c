"""The CDK app: one stack, one construct per concern, all derived from the worker registry.

Nothing in this package ships inside a Lambda asset.
"""
