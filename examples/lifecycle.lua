-- All three published workflows in one run: onboard, upgrade, churn. Errors are caught and reported.
local steps = {
  function()
    app.integrations.vero.identify_user({
      id = "usr_456", email = "jane@example.com", name = "Jane Smith",
      data = { plan = "free", signup_date = "2025-06-15" },
    })
    app.integrations.vero.track_event({
      identity = "usr_456", event_name = "Signed up", data = { source = "landing_page", plan = "free" },
    })
  end,
  function()
    app.integrations.vero.update_user({ id = "usr_456", data = { plan = "premium", upgraded_at = "2025-07-01" } })
    app.integrations.vero.track_event({
      identity = "usr_456", event_name = "Upgraded plan", data = { from_plan = "free", to_plan = "premium" },
    })
  end,
  function()
    app.integrations.vero.track_event({
      identity = "usr_456", event_name = "Cancelled subscription",
      data = { reason = "too_expensive", last_plan = "premium" },
    })
    app.integrations.vero.unsubscribe({ id = "usr_456" })
  end,
}

for i, step in ipairs(steps) do
  local ok, err = pcall(step)
  print(("step %d: %s"):format(i, ok and "ok" or err))
end

local me = app.integrations.vero.get_current_user({})
print("account: " .. me.account .. ", Vero reachable: " .. tostring(me.connectivity.ok))
