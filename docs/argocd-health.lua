-- Argo CD health of Dagwright's resources (docs/gitops.md). The same script serves both keys
-- of argocd-cm: resource.customizations.health.dagwright.io_WorkflowRun and
-- resource.customizations.health.dagwright.io_Workflow. Lua 5.1 (gopher-lua), no libraries.
local hs = {}

local function condition(status, type_)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function describe(status)
  local text = status.phase
  if status.progress ~= nil and status.progress ~= "" then
    text = text .. " (" .. status.progress .. " tasks done)"
  end
  if status.message ~= nil and status.message ~= "" then
    text = text .. ": " .. status.message
  end
  return text
end

if obj.kind == "Workflow" then
  local valid = condition(obj.status, "Valid")
  if valid ~= nil and valid.status == "False" then
    hs.status = "Degraded"
    hs.message = valid.message or valid.reason or "invalid spec"
    return hs
  end
  hs.status = "Healthy"
  if obj.status ~= nil and obj.status.lastRun ~= nil then
    hs.message = "last run " .. obj.status.lastRun .. ": " .. (obj.status.lastRunPhase or "Pending")
  else
    hs.message = "no run yet"
  end
  return hs
end

-- WorkflowRun
if obj.status == nil or obj.status.phase == nil or obj.status.phase == "" then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to start the run"
  return hs
end
local phase = obj.status.phase
hs.message = describe(obj.status)
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Cancelled" then
  hs.status = "Degraded"
elseif phase == "Pending" or phase == "Queued" or phase == "Running" then
  hs.status = "Progressing"
else
  hs.status = "Unknown"
  hs.message = "unknown phase " .. phase
end
return hs
