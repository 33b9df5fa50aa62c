"""The local sandbox: a moto server, the same topology as the CDK app, and pollers."""
