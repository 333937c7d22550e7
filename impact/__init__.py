"""Impact: income surveys workers answer over USSD, and the impact report built on them."""
