"""Example jobs for users: plain ``spark-submit`` after ``eval "$(dataplat env)"``."""
