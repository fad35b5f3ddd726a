"""Training methods: networks + optimisers + one ``train_step``. The shared
loop (``alibench.loop``) drives any of them."""
