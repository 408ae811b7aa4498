module dagwright.io/hack/image/pause

go 1.24.0
