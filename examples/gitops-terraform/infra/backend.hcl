# The S3 backend shared by every region (the key, one per region, is given at init).
bucket         = "tf-state"
region         = "us-east-1"
dynamodb_table = "tf-locks"
