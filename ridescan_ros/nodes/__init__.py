"""rclpy nodes: thin adapters over core, model and service."""
