"""The oracle node's HTTP service: `create_app(load_node(config, password))`."""
