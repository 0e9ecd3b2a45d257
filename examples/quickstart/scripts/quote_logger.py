# Example script for the quickstart fleet: logs the mid price of each
# configured market every few seconds. It trades nothing.
from hummingbot.strategy.script_strategy_base import ScriptStrategyBase


class QuoteLogger(ScriptStrategyBase):
    markets = {}

    def on_tick(self):
        for connector_name, connector in self.connectors.items():
            for pair in self.markets.get(connector_name, []):
                self.logger().info(f"{connector_name} {pair} mid={connector.get_mid_price(pair)}")
