"""Optuna's RDBStorage on the same server, as `npm run bench -- study` compares mldb's study engine with it.

  optuna-study.py create URL STUDY          the study (outside the timing: schema and study row)
  optuna-study.py work URL STUDY N SEED     one worker until the study has N finished trials
  optuna-study.py count URL STUDY           trials by state

URL is mysql+pymysql://user@host:port/db. Prints one JSON line. The objective is the trivial one
the bench gives mldb: two parameters, ten reported values, no training.
"""
import json
import math
import sys
import time

import optuna
import pymysql
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 1e-4, 1e-1, log=True)
    v = 0.0
    for step in range(1, 11):
        v = -((x - 0.7) ** 2) - 0.01 * (math.log10(y) + 2) ** 2 + 0.01 * step
        trial.report(v, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return v


def main():
    mode, url, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "create":
        rest = url.split("//", 1)[1]
        creds, hostpart = rest.split("@", 1)
        host, db = hostpart.split("/", 1)
        host, port = host.split(":")
        conn = pymysql.connect(host=host, port=int(port), user=creds.split(":")[0])
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        conn.close()
        optuna.create_study(storage=url, study_name=name, direction="maximize", load_if_exists=True)
        print(json.dumps({"created": name}))
        return
    if mode == "count":
        study = optuna.load_study(storage=url, study_name=name)
        counts = {}
        for t in study.get_trials(deepcopy=False):
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        print(json.dumps(counts))
        return
    n, seed = int(sys.argv[4]), int(sys.argv[5])
    study = optuna.load_study(
        storage=url,
        study_name=name,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    started = time.time()
    study.optimize(objective, n_trials=n, callbacks=[MaxTrialsCallback(n, states=(TrialState.COMPLETE, TrialState.PRUNED))])
    print(json.dumps({"start": started * 1000, "end": time.time() * 1000}))


main()
