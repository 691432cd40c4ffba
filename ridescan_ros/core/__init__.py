"""Plain core: readers, profiles, windows, risk mapping, store. Never imports rclpy, torch or fastapi."""
