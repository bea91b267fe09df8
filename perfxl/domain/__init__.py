"""The domain: money, indicator values, the indicator code sets, the packed 绩效指标 cell,
the fields of a project and an indicator, and the model they make up."""
