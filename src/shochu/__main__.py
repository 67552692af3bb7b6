from shochu.cli import app

app()
