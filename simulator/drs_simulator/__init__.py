"""A local AWS for Elastic Disaster Recovery: moto for EC2, STS, IAM, DynamoDB, SSM, CloudWatch and
CloudFormation, plus a DRS emulator sharing moto's EC2 state, behind one HTTP endpoint."""

__version__ = "0.1.0"
