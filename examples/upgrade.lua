-- Upgrade a user's plan (the published reference's second workflow)

-- Update user attributes
app.integrations.vero.update_user({
  id = "usr_456",
  data = {
    plan = "premium",
    upgraded_at = "2025-07-01"
  }
})

-- Track the upgrade event
app.integrations.vero.track_event({
  identity = "usr_456",
  event_name = "Upgraded plan",
  data = {
    from_plan = "free",
    to_plan = "premium"
  }
})

print("upgraded usr_456")
